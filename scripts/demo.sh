#!/usr/bin/env bash
# The README's first command: synthesize the built-in DistilBERT-base-shaped model,
# convert it to real int8 storage, print the ledger, show what a 125 MB target needs, and
# compare the two models output against output.
set -euo pipefail
build=${1:-build}
tq="$build/trueq"
dir="$build/demo"
mkdir -p "$dir"
if [ ! -f "$dir/distilbert/model.safetensors" ]; then
  echo "== trueq synth: the built-in default model (DistilBERT-base shape, MNLI head)"
  "$tq" synth "$dir/distilbert"
fi
rm -rf "$dir/distilbert-int8" "$dir/distilbert-int8-emb"
echo
echo "== trueq convert --bits 8 (embeddings kept in F32, the seeds' policy), aiming at 125 MB"
"$tq" convert "$dir/distilbert" --bits 8 --target-size 125MB --dry-run || true
echo
echo "== the same with --quantize-embeddings, for real"
"$tq" convert "$dir/distilbert" -o "$dir/distilbert-int8-emb" --bits 8 --quantize-embeddings --target-size 125MB
echo
echo "== trueq inspect: the ledger of the written file (totals reconcile with ls -l)"
"$tq" inspect "$dir/distilbert-int8-emb" | sed -n '1,12p'
echo "   ... (rows elided; run: $tq inspect $dir/distilbert-int8-emb)"
"$tq" inspect "$dir/distilbert-int8-emb" --quiet
ls -l "$dir/distilbert-int8-emb/model.safetensors"
echo
echo "== trueq compare --keep-int8: the same C forward pass on the original and the int8 copy (held as int8), outputs compared"
"$tq" compare "$dir/distilbert" "$dir/distilbert-int8-emb" --keep-int8
