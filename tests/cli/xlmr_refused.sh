#!/usr/bin/env bash
# XLM-RoBERTa (a RoBERTa encoder over a sentencepiece Unigram tokenizer) is
# refused by name in embed, classify and tokenize, never run with the wrong
# tokenizer: a tiny config with model_type "xlm-roberta" and a tokenizer.json
# whose model is Unigram; a Unigram tokenizer.json beside a RoBERTa config is
# refused by tokenize naming its model type; nothing is written.
set -u
TQ=${TQ_CLI:-build/trueq}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib/tap.sh"

"$TQ" synth "$T/x" --arch roberta --shape tiny --dtype F32 -q > /dev/null || { echo "synth failed"; exit 1; }
rm -f "$T/x/vocab.json" "$T/x/merges.txt"
sed -i 's/"model_type": "roberta"/"model_type": "xlm-roberta"/; s/RobertaForSequenceClassification/XLMRobertaForSequenceClassification/' "$T/x/config.json"
cat > "$T/x/tokenizer.json" <<'JSON'
{"version": "1.0", "added_tokens": [{"id": 0, "content": "<s>", "special": true}],
 "normalizer": null, "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581"},
 "model": {"type": "Unigram", "unk_id": 3, "vocab": [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0],
           ["\u2581the", -2.5], ["\u2581cat", -5.0], ["s", -3.0]]}}
JSON
grep -q '"model_type": "xlm-roberta"' "$T/x/config.json" || { echo "fixture: sed did not apply"; exit 1; }
before=$(ls -A "$T/x" | sort | tr '\n' ' ')
for c in embed classify; do
  "$TQ" $c "$T/x" "the cats" > "$T/$c.out" 2> "$T/$c.err"; rc=$?
  check "$c refuses XLM-RoBERTa by name (exit 2, the Unigram tokenizer named)" \
    '[ $rc -eq 2 ] && grep -q "XLM-RoBERTa is not supported" "$T/$c.err" && grep -q "Unigram" "$T/$c.err" && [ ! -s "$T/$c.out" ]'
  [ $rc -eq 2 ] || sed 's/^/# /' "$T/$c.err"
done
"$TQ" tokenize "$T/x" "the cats" > "$T/tok.out" 2> "$T/tok.err"; rc=$?
check "tokenize refuses the Unigram tokenizer.json, naming the file and the model type" \
  '[ $rc -eq 2 ] && grep -q "tokenizer.json: model \"Unigram\" is a sentencepiece Unigram model" "$T/tok.err" && [ ! -s "$T/tok.out" ]'
[ $rc -eq 2 ] || sed 's/^/# /' "$T/tok.err"
# the same Unigram tokenizer beside a plain RoBERTa config: refused, not guessed
"$TQ" synth "$T/r" --arch roberta --shape tiny --dtype F32 -q > /dev/null
rm -f "$T/r/vocab.json" "$T/r/merges.txt"; cp "$T/x/tokenizer.json" "$T/r/"
"$TQ" embed "$T/r" "the cats" > /dev/null 2> "$T/r.err"; rc=$?
check "embed of a RoBERTa config with a Unigram tokenizer.json: refused naming it" \
  '[ $rc -eq 2 ] && grep -q "model \"Unigram\"" "$T/r.err"'
[ $rc -eq 2 ] || sed 's/^/# /' "$T/r.err"
check "nothing was written beside the model" '[ "$(ls -A "$T/x" | sort | tr "\n" " ")" = "$before" ]'
tap_end
