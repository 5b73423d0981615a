#!/usr/bin/env bash
# trueq tokenize end to end on hand-made vocabularies whose ids are known:
# WordPiece (vocab.txt) single texts, pairs with token types, --no-specials;
# RoBERTa-style byte-level BPE (vocab.json + merges.txt) with <s> a </s></s>
# b </s>; the text output's pieces; usage and input errors (exit 1 / 2, named).
# Ids against transformers' own tokenizers: test_encoder_reference (e).
set -u
CLI=${TQ_CLI:-build/trueq}
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skip: /usr/bin/python3 not found"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }

W="$T/wp"; mkdir -p "$W"
printf '%s\n' '[PAD]' '[UNK]' '[CLS]' '[SEP]' '[MASK]' the cat '##s' sat > "$W/vocab.txt"
"$CLI" tokenize "$W" "The cats sat" --json > "$T/w1.json"; rc=$?
check "wordpiece: exits 0" '[ $rc -eq 0 ]'
check "wordpiece: [CLS] the cat ##s sat [SEP] = 2 5 6 7 8 3, lower-cased" '"$PY" - "$T/w1.json" <<PYEOF
import json, sys
j = json.load(open(sys.argv[1]))
assert j["tokenizer"] == "wordpiece" and j["vocab_size"] == 9 and j["specials"] is True, j
i = j["inputs"][0]
assert i["ids"] == [2, 5, 6, 7, 8, 3], i
assert i["pieces"] == ["[CLS]", "the", "cat", "##s", "sat", "[SEP]"], i
PYEOF'
"$CLI" tokenize "$W" "the" "cat dog" --pair --json > "$T/w2.json"
check "wordpiece --pair: [CLS] a [SEP] b [SEP], types 0 then 1, unknown word [UNK]" '"$PY" - "$T/w2.json" <<PYEOF
import json, sys
i = json.load(open(sys.argv[1]))["inputs"][0]
assert i["ids"] == [2, 5, 3, 6, 1, 3] and i["type_ids"] == [0, 0, 0, 1, 1, 1], i
PYEOF'
check "wordpiece --no-specials: the text's ids only" '[ "$("$CLI" tokenize "$W" "cats sat" --no-specials | sed -n 2p)" = "6 7 8" ]'

B="$T/bpe"; mkdir -p "$B"
printf '{"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "a": 4, "b": 5, "\\u0120": 6, "ab": 7, "\\u0120ab": 8}\n' > "$B/vocab.json"
printf '#version: 0.2\na b\n\xc4\xa0 ab\n' > "$B/merges.txt"
"$CLI" tokenize "$B" "ab ab" > "$T/b1.txt"; rc=$?
check "bpe: exits 0" '[ $rc -eq 0 ]'
check "bpe: <s> ab Gab </s> = 0 7 8 2 (ids, then pieces)" \
  '[ "$(sed -n 2p "$T/b1.txt")" = "0 7 8 2" ] && [ "$(sed -n 3p "$T/b1.txt")" = "<s> ab $(printf "\xc4\xa0")ab </s>" ]'
"$CLI" tokenize "$B" "ab" "ab" --pair --json > "$T/b2.json"
check "bpe --pair: <s> a </s></s> b </s>, one token type" '"$PY" - "$T/b2.json" <<PYEOF
import json, sys
j = json.load(open(sys.argv[1]))
assert j["tokenizer"] == "bpe", j
i = j["inputs"][0]
assert i["ids"] == [0, 7, 2, 2, 7, 2] and i["type_ids"] == [0] * 6, i
assert i["pieces"] == ["<s>", "ab", "</s>", "</s>", "ab", "</s>"], i
PYEOF'
check "bpe: a special written in the text is that token" '[ "$("$CLI" tokenize "$B" "ab</s>" | sed -n 2p)" = "0 7 2 2" ]'
check "a weight file's path reads the tokenizer beside it" \
  'touch "$B/model.safetensors" && [ "$("$CLI" tokenize "$B/model.safetensors" "ab" | sed -n 2p)" = "0 7 2" ]'

# a decoder's sentencepiece vocabulary (llama2.c tokenizer.bin), when stories260k is there
S=${TRUEQ_MODELS:-${TQ_SOURCE_DIR:-.}/../shared/models}/stories260k
if [ -f "$S/tok512.bin" ]; then
  with=$("$CLI" tokenize "$S" "Once upon a time" | sed -n 2p); without=$("$CLI" tokenize "$S" "Once upon a time" --no-specials | sed -n 2p)
  check "sentencepiece (stories260k): BOS 1 first, then the text's own ids" '[ "$with" = "1 $without" ] && [ -n "$without" ]'
  "$CLI" tokenize "$S" "a" "b" --pair > /dev/null 2> "$T/err0"; rc=$?
  check "sentencepiece --pair: no pair format, exit 2 saying so" '[ $rc -eq 2 ] && grep -q "no sentence-pair format" "$T/err0"'
else
  echo "# stories260k not found (set TRUEQ_MODELS): sentencepiece checks skipped"
fi

"$CLI" tokenize "$W" "a" "b" "c" --pair > /dev/null 2> "$T/err1"; rc=$?
check "--pair with an odd number of texts: exit 1 (usage), said" '[ $rc -eq 1 ] && grep -q "two at a time" "$T/err1"'
mkdir -p "$T/none"
"$CLI" tokenize "$T/none" "x" > /dev/null 2> "$T/err2"; rc=$?
check "no tokenizer: exit 2 naming the directory" '[ $rc -eq 2 ] && grep -q "$T/none: no tokenizer" "$T/err2"'
"$CLI" tokenize "$B" "ok" "$(printf "bad \xff")" > /dev/null 2> "$T/err3"; rc=$?
check "invalid UTF-8: exit 2 naming the input and the byte" '[ $rc -eq 2 ] && grep -q "input 2" "$T/err3" && grep -qi "utf-8" "$T/err3"'
exit $fail
