#!/usr/bin/env bash
# A directory whose tokenizer is a sentencepiece Unigram model (trainer_spec
# model_type UNIGRAM: XLM-RoBERTa's, T5's, ALBERT's), as tokenizer.model or
# under XLM-R's name sentencepiece.bpe.model, is refused naming the file and
# saying Unigram is not supported (not the generic "no tokenizer"), by
# tokenize and generate; the same pieces marked BPE tokenize (hand-built
# protobuf as tests/test_spm_unigram.c: pieces <unk>, <s>, </s>, "a").
set -u
TQ=${TQ_CLI:-build/trueq}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib/tap.sh"

"$TQ" synth "$T/m" --arch llama --shape tiny --quiet > /dev/null 2>&1 || { echo "synth failed"; exit 1; }
spm() {  # spm FILE TYPE: the four pieces, then trainer_spec {model_type TYPE} (1 UNIGRAM, 2 BPE)
  printf '\x0a\x09\x0a\x05<unk>\x18\x02\x0a\x07\x0a\x03<s>\x18\x03\x0a\x08\x0a\x04</s>\x18\x03\x0a\x03\x0a\x01a\x12\x02\x18\x0'"$2" > "$1"
}
spm "$T/m/tokenizer.model" 1
"$TQ" tokenize "$T/m" "a a" > "$T/t.out" 2> "$T/t.err"; rc=$?
check "tokenize: a Unigram tokenizer.model is refused (exit 2), naming the file and Unigram" \
  '[ $rc -eq 2 ] && grep -q "$T/m/tokenizer.model: a sentencepiece Unigram model" $T/t.err && grep -q "Unigram is not supported" $T/t.err && ! grep -q "no tokenizer" $T/t.err && [ ! -s $T/t.out ]'
[ $rc -eq 2 ] || sed 's/^/# /' "$T/t.err"
"$TQ" generate "$T/m" --prompt "a" --steps 2 > "$T/g.out" 2> "$T/g.err"; rc=$?
check "generate: the same refusal, nothing generated" \
  '[ $rc -eq 2 ] && grep -q "tokenizer.model: .*Unigram is not supported" $T/g.err && [ ! -s $T/g.out ]'
mv "$T/m/tokenizer.model" "$T/m/sentencepiece.bpe.model"
"$TQ" tokenize "$T/m" "a" > /dev/null 2> "$T/x.err"; rc=$?
check "XLM-R's name, sentencepiece.bpe.model (a Unigram model despite it): refused naming it" \
  '[ $rc -eq 2 ] && grep -q "$T/m/sentencepiece.bpe.model: a sentencepiece Unigram model" $T/x.err && grep -q "Unigram is not supported" $T/x.err'
spm "$T/m/tokenizer.model" 2
"$TQ" tokenize "$T/m" "a" > "$T/b.out" 2> "$T/b.err"; rc=$?
check "the same pieces marked BPE in tokenizer.model: tokenized (<s> then the piece a)" \
  '[ $rc -eq 0 ] && grep -q "^1 " $T/b.out && grep -q "<s>" $T/b.out'
rm -f "$T/m/tokenizer.model" "$T/m/sentencepiece.bpe.model"
"$TQ" tokenize "$T/m" "a" > /dev/null 2> "$T/n.err"; rc=$?
check "no tokenizer file at all: still the generic message listing what is read" '[ $rc -eq 2 ] && grep -q "no tokenizer: none of" $T/n.err'
tap_end
