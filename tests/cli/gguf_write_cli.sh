#!/usr/bin/env bash
# trueq convert --format gguf from the command line (no llama.cpp needed):
# the dry run's size is the written file's, the report and JSON name the ggml
# types, --threads does not change a byte, refusals exit with their codes and
# messages, a failed run leaves nothing behind.
set -u
skip() { echo "skip: $1"; exit 77; }
CLI=${TQ_CLI:-build/trueq}
M=${TRUEQ_MODELS:-${TQ_SOURCE_DIR:-.}/../shared/models}/stories260k
for f in stories260K.safetensors tok512.bin params.json; do [ -f "$M/$f" ] || skip "stories260k ($f) not found (set TRUEQ_MODELS)"; done
PY=$(command -v python3) || skip "python3 not found"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }

"$CLI" convert "$M" --format gguf --type Q4_K --dry-run --json > "$T/plan.json"; rc=$?
check "dry run exits 0" '[ $rc -eq 0 ]'
check "dry run writes nothing" '[ ! -e "$T/q4k" ]'
"$CLI" convert "$M" --format gguf --type Q4_K -o "$T/q4k" --json > "$T/run.json"; rc=$?
check "convert exits 0 and writes model.gguf only" '[ $rc -eq 0 ] && [ "$(ls "$T/q4k")" = model.gguf ]'
check "planned bytes == file bytes; JSON names the types and rules" '"$PY" - "$T/plan.json" "$T/run.json" "$T/q4k/model.gguf" <<PYEOF
import json, os, sys
p, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
size = os.path.getsize(sys.argv[3])
assert p["dry_run"] and not p["measured"] and r["measured"], (p, r)
assert p["output_bytes"] == r["output_bytes"] == size, (p["output_bytes"], r["output_bytes"], size)
assert p["gguf_type"] == "Q4_K" and p["weights_file"] == "model.gguf"
assert set(p["bytes_by_ggml_type"]) == {"F32", "F16", "Q5_0", "Q8_0"}, p["bytes_by_ggml_type"]
t = {x["gguf_name"]: x for x in p["tensors"]}
assert t["blk.0.ffn_down.weight"]["ggml_type"] == "F16" and "fallback F16" in t["blk.0.ffn_down.weight"]["rule"]
assert t["token_embd.weight"]["ggml_type"] == "Q8_0" and "output rule" in t["token_embd.weight"]["rule"]
assert t["output_norm.weight"]["ggml_type"] == "F32" and t["output_norm.weight"]["rule"].startswith("kept F32")
assert sum(p["bytes_by_ggml_type"].values()) < size
PYEOF'
"$CLI" convert "$M" --format gguf --type Q4_K -o "$T/q4k_j1" --threads 1 > "$T/run1.txt"; rc=$?
check "--threads 1 gives the same bytes" '[ $rc -eq 0 ] && cmp -s "$T/q4k/model.gguf" "$T/q4k_j1/model.gguf"'
check "text report: measured size, types per tensor" 'grep -q "measured: size of the written file" "$T/run1.txt" &&
  grep -q "blk.2.attn_v.weight *mixture rule Q6_K, ne\[0\] = 64 not a multiple of 256: fallback Q8_0" "$T/run1.txt"'

"$CLI" convert "$M" --format gguf --type Q9_9 -o "$T/bad" 2> "$T/err.txt"; rc=$?
check "unknown --type: exit 2, the list of types, nothing written" '[ $rc -eq 2 ] && [ ! -e "$T/bad" ] &&
  grep -q "not a GGUF file type trueq writes (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K or Q6_K)" "$T/err.txt"'
"$CLI" convert "$M" --type Q8_0 -o "$T/bad" 2> "$T/err.txt"; rc=$?
check "--type without --format gguf: usage error" '[ $rc -eq 1 ] && grep -q -- "--type applies to --format gguf only" "$T/err.txt"'
"$CLI" convert "$M" --format gguf --bits 4 -o "$T/bad" 2> "$T/err.txt"; rc=$?
check "--bits with --format gguf: usage error" '[ $rc -eq 1 ] && grep -q -- "--bits does not apply to --format gguf" "$T/err.txt"'
"$CLI" convert "$M" --format gguf --type Q8_0 --target-size 100kB -o "$T/bad" > /dev/null 2> "$T/err.txt"; rc=$?
check "--target-size below the plan: exit 3, nothing written" '[ $rc -eq 3 ] && [ ! -e "$T/bad" ] && grep -q "over the target" "$T/err.txt"'
mkdir "$T/notok"; cp "$M/stories260K.safetensors" "$M/params.json" "$T/notok/"
"$CLI" convert "$T/notok" --format gguf --type Q8_0 -o "$T/bad" 2> "$T/err.txt"; rc=$?
check "no tokenizer: exit 2, says llama.cpp needs it, nothing written" '[ $rc -eq 2 ] && [ ! -e "$T/bad" ] &&
  grep -q "llama.cpp requires tokenizer.ggml" "$T/err.txt"'
exit $fail
