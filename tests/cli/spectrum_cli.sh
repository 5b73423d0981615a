#!/usr/bin/env bash
# End-to-end checks of `trueq spectrum` through the CLI: WeightWatcher's own
# numbers on the real stories260K (fixtures from tests/spectral/gen_fixtures.py),
# the quantization study, ORIG QUANT against `trueq convert`, SVG plots,
# exit codes, and the synthetic DistilBERT end to end.
set -u
TQ=${TQ_CLI:-build/trueq}
SRC=${TQ_SOURCE_DIR:-.}
FX=$SRC/tests/spectral/ww_fixtures.json
CHK="/usr/bin/python3 $SRC/tests/spectral/check_cli.py"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0; passes=0
ok()   { passes=$((passes+1)); echo "ok - $1"; }
bad()  { fails=$((fails+1)); echo "not ok - $1"; }
check(){ if eval "$2"; then ok "$1"; else bad "$1"; fi; }

[ -x /usr/bin/python3 ] || { echo "skip: /usr/bin/python3 is needed for the checks"; exit 77; }
MODELS=${TRUEQ_MODELS:-$SRC/../shared/models}
[ -d "$MODELS" ] || MODELS=/work/shared/models
ST=$MODELS/stories260k/stories260K.safetensors
[ -f "$ST" ] || { echo "skip: $ST not found (set TRUEQ_MODELS)"; exit 77; }

# --- usage errors ----------------------------------------------------------
"$TQ" spectrum >/dev/null 2>&1; rc=$?
check "no model is a usage error (exit 1)" '[ $rc -eq 1 ]'
"$TQ" spectrum "$ST" --svd magic >/dev/null 2>&1; rc=$?
check "bad --svd is a usage error" '[ $rc -eq 1 ]'
"$TQ" spectrum "$ST" --bits 8,x >/dev/null 2>&1; rc=$?
check "bad --bits is a usage error" '[ $rc -eq 1 ]'

# --- a model with nothing to analyse --------------------------------------
$CHK write_only_1d "$T/only1d.safetensors"
"$TQ" spectrum "$T/only1d.safetensors" > "$T/only1d.txt" 2> "$T/only1d.err"; rc=$?
check "nothing analysed exits 2 and says why" '[ $rc -eq 2 ] && grep -q "no tensor" $T/only1d.err'
check "...and still lists every tensor with its reason" \
  '[ $(grep -c "skipped.*1-D tensor" $T/only1d.txt) -eq 2 ]'

# --- a tensor with a NaN fails alone -----------------------------------------
$CHK write_with_nan "$T/nan.safetensors"
"$TQ" spectrum "$T/nan.safetensors" --csv "$T/nan.csv" > /dev/null; rc=$?
check "a NaN weight fails its own row only (exit 0)" \
  '[ $rc -eq 0 ] && grep -q "^good.weight,ok," $T/nan.csv && grep -q "^bad.weight,failed,.*non-finite weight nan at flat index 100 (row 6, col 4).,40,16,2.5,-1," $T/nan.csv'
"$TQ" spectrum "$ST" --bits 3 >/dev/null 2>&1; rc=$?
check "a bit width the codec lacks is a usage error" '[ $rc -eq 1 ]'

# --- stories260K: WeightWatcher's numbers -----------------------------------
"$TQ" spectrum "$ST" --csv "$T/s.csv" > "$T/s.txt"; rc=$?
check "stories260K analyses (exit 0)" '[ $rc -eq 0 ]'
check "every tensor appears in the text table" '[ $(grep -cE "^(tok_embeddings|layers\.|norm\.)" $T/s.txt) -eq 47 ]'
check "CSV: one row per tensor" '[ $(($(wc -l < $T/s.csv) - 1)) -eq 47 ]'
check "CSV matches WeightWatcher 0.7.5.5 (1e-9, counts exact)" "$CHK ww_vs_csv $FX $T/s.csv"
"$TQ" spectrum "$ST" --json --svd gesdd > "$T/s.json"; rc=$?
check "JSON summary equals get_summary()" '[ $rc -eq 0 ] && '"$CHK summary_vs_ww $FX $T/s.json"
"$TQ" spectrum "$ST" --ww --csv "$T/ww.csv" > /dev/null
check "--ww: only analysed rows, status success" \
  '[ $(($(wc -l < $T/ww.csv) - 1)) -eq 36 ] && [ $(grep -c ",success," $T/ww.csv) -eq 36 ]'
"$TQ" spectrum "$ST" --threads 1 --csv "$T/t1.csv" > /dev/null
"$TQ" spectrum "$ST" --threads 4 --csv "$T/t4.csv" > /dev/null
check "same bytes for 1 and 4 threads" 'cmp -s $T/t1.csv $T/t4.csv'

# --- the quantization study -------------------------------------------------
L=layers.2.feed_forward.w1.weight
"$TQ" spectrum "$ST" --bits 8,4,2 --json --csv "$T/study.csv" --svg "$T/svg" --layer $L > "$T/study.json" 2>/dev/null; rc=$?
check "--bits 8,4,2 runs (exit 0)" '[ $rc -eq 0 ]'
check "combined CSV and one CSV per run" \
  '[ -f $T/study.csv ] && [ -f $T/study-orig.csv ] && [ -f $T/study-8bit.csv ] && [ -f $T/study-4bit.csv ] && [ -f $T/study-2bit.csv ]'
check "study CSV header" \
  'head -1 $T/study.csv | grep -q "^name,N,M,status_orig,alpha_orig,status_8bit,alpha_8bit,delta_alpha_8bit,status_4bit"'
check "study: means, shares, correlations and deltas are consistent" "$CHK study $T/study.json $T/study.csv 4"
check "the original run of the study equals the plain run" 'cmp -s $T/study-orig.csv $T/s.csv'
check "8-bit keeps layer-wise alpha (corr >= 0.99)" "$CHK corr_at_least $T/study.json 8bit 0.99"
check "alpha.svg: well-formed, one series per bit width, a point per fitted layer" "$CHK svg_alpha $T/svg/alpha.svg $T/study.json"
check "esd-orig.svg: histogram, fitted power law, xmin marked" "$CHK svg_esd $T/svg/esd-orig.svg $T/study.json orig $L"
check "esd-2bit.svg: same for 2 bits" "$CHK svg_esd $T/svg/esd-2bit.svg $T/study.json 2bit $L"

# --- ORIG QUANT: a real trueq file --------------------------------------------
if "$TQ" convert "$ST" -o "$T/q4" --bits 4 --quantize-embeddings >/dev/null 2>&1; then
  "$TQ" spectrum "$ST" "$T/q4" --json > "$T/oq.json" 2>/dev/null; rc=$?
  check "ORIG QUANT runs (exit 0)" '[ $rc -eq 0 ]'
  check "dequantized file gives the --bits 4 numbers exactly" "$CHK same_alphas $T/oq.json quant $T/study.json 4bit 1e-12"
else
  bad "trueq convert --bits 4 failed"
fi

# --- --tensors: a subset's rows are those rows of the full run --------------
"$TQ" synth "$T/tiny" --arch distilbert --shape tiny --quiet > /dev/null 2>&1
"$TQ" spectrum "$T/tiny" --json > "$T/tf.json"
"$TQ" spectrum "$T/tiny" --tensors '*layer.1.*,*q_lin.weight' --threads 3 --json > "$T/ts.json"; rc=$?
SUB='import json,sys; f=json.load(open(sys.argv[1]))["runs"]; s=json.load(open(sys.argv[2]))["runs"]
for a, b in zip(f, s):
    F = [l for l in a["layers"] if l["name"] in {x["name"] for x in b["layers"]}]
    assert F == b["layers"] and 0 < len(F) < len(a["layers"]), (len(F), len(b["layers"]))
    assert all(any(p in l["name"] for p in sys.argv[3].split(",")) for l in F)'
check "--tensors GLOB,GLOB: exit 0, only matching tensors, each row the full run's (other thread count)" \
  '[ $rc -eq 0 ] && /usr/bin/python3 -c "$SUB" $T/tf.json $T/ts.json .layer.1.,q_lin.weight'
"$TQ" spectrum "$T/tiny" --bits 8,2 --json > "$T/tbf.json"
"$TQ" spectrum "$T/tiny" --bits 8,2 --tensors '*ffn.lin2.weight' --json > "$T/tbs.json"
check "... also in a --bits study, run by run" '/usr/bin/python3 -c "$SUB" $T/tbf.json $T/tbs.json ffn.lin2.weight'
"$TQ" spectrum "$T/tiny" --tensors 'nothing*' > /dev/null 2> "$T/tn.err"; rc=$?
check "--tensors with a glob matching nothing: exit 2 naming the glob" '[ $rc -eq 2 ] && grep -q "glob \"nothing\*\" matches no tensor" $T/tn.err'
"$TQ" spectrum "$T/tiny" --as-convert > /dev/null 2>&1; rc=$?
check "--as-convert without --bits: usage error" '[ $rc -eq 1 ]'
if "$TQ" convert "$T/tiny" -o "$T/tq" --bits 4 --codec linear-affine > /dev/null 2>&1; then
  "$TQ" spectrum "$T/tq" --json > "$T/tq.json"
  "$TQ" spectrum "$T/tiny" --bits 4 --codec linear-affine --as-convert --json > "$T/tac.json"; rc=$?
  check "--as-convert: the spectrum of convert's output, tensor by tensor (kept ones as stored)" \
    '[ $rc -eq 0 ] && /usr/bin/python3 -c "import json,sys; q=json.load(open(sys.argv[1]))[\"runs\"][0][\"layers\"]; a=json.load(open(sys.argv[2]))[\"runs\"]; A={l[\"name\"]: l.get(\"alpha\") for l in a[1][\"layers\"]}; Q={l[\"name\"]: l.get(\"alpha\") for l in q}; O={l[\"name\"]: l.get(\"alpha\") for l in a[0][\"layers\"]}; assert A == Q and A != O and len(A) > 5" $T/tq.json $T/tac.json'
  "$TQ" spectrum "$T/tiny" --bits 4 --codec linear-affine --as-convert --only-quantized --tensors '*lin1.weight' --json > "$T/toq.json"; rc=$?
  check "--only-quantized: one run, the 4-bit run's rows (no original analysed)" \
    '[ $rc -eq 0 ] && /usr/bin/python3 -c "import json,sys; a=json.load(open(sys.argv[1]))[\"runs\"]; b=json.load(open(sys.argv[2]))[\"runs\"]; A={l[\"name\"]: l for l in a[1][\"layers\"]}; assert len(b) == 1 and b[0][\"label\"] == \"4bit\" and len(b[0][\"layers\"]) == 2 and all(A[l[\"name\"]] == l for l in b[0][\"layers\"])" $T/tac.json $T/toq.json'
else
  bad "trueq convert of the tiny model failed"
fi
"$TQ" spectrum "$T/tiny" --bits 8,4 --only-quantized > /dev/null 2>&1; rc=$?
check "--only-quantized with two bit widths: usage error" '[ $rc -eq 1 ]'

# --- synthetic DistilBERT-base end to end ----------------------------------
if "$TQ" synth "$T/d" >/dev/null 2>&1; then
  "$TQ" spectrum "$T/d" --threads 2 --csv "$T/d.csv" > "$T/d.txt"; rc=$?
  check "DistilBERT-base: exit 0" '[ $rc -eq 0 ]'
  check "DistilBERT-base: 39 matrices analysed, all fitted" \
    '[ $(grep -c ",ok," $T/d.csv) -eq 39 ]'
  check "DistilBERT-base: the 30522x768 word embedding is analysed (N <= 50000)" \
    'grep -q "^distilbert.embeddings.word_embeddings.weight,ok,,30522,768," $T/d.csv'
  check "DistilBERT-base: biases and LayerNorms skipped as 1-D, the 3-label head as M = 3 < 10" \
    '[ $(grep -c ",skipped,1-D tensor" $T/d.csv) -eq $(($(wc -l < $T/d.csv) - 1 - 39 - 1)) ] && grep -q "^classifier.weight,skipped,M = 3 < 10" $T/d.csv'
else
  bad "trueq synth failed"
fi

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
